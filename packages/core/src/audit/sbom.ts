import { describeModelKit } from '../modelkit/contents.js';
import type { ReadTarget } from '../oci/target.js';
import { parseManifest } from '../oci/types.js';
import { generateSbom, type Sbom, type SbomFormat } from '../sbom/index.js';
import type { Descriptor } from '../oci/types.js';
import { TOOL_VERSION } from '../version.js';

/**
 * `kit sbom`: the SBOM of a ModelKit wherever it is, streaming only its code, docs and prompt
 * layers (never the model or datasets, which are described by their digests).
 */
export async function modelKitSbom(target: ReadTarget, reference: string, name: string, format: SbomFormat, timestamp?: string): Promise<{ sbom: Sbom; descriptor: Descriptor }> {
  const descriptor = await target.resolve(reference);
  const manifest = parseManifest(await target.fetchManifest(descriptor), `manifest of ${name}`);
  const contents = describeModelKit(manifest, await target.fetchBlobBytes(manifest.config), name);
  const sbom = await generateSbom(
    { reference: name, manifestDigest: descriptor.digest, manifest, contents },
    { format, timestamp, toolVersion: TOOL_VERSION, readLayer: (layer) => target.fetchBlob(layer.descriptor) },
  );
  return { sbom, descriptor };
}
