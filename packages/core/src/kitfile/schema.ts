/**
 * Zod schemas for the Kitfile (kitops-format.md §1.2). Two flavours, built from one description:
 *
 * - `KitfileSchema` (YAML): strict objects, because upstream decodes with yaml.v3
 *   `KnownFields(true)`, so an unknown key (a typo, a newer field) is an error; `digest` and
 *   `diffId` are `yaml:"-"` upstream, hence unknown here too.
 * - `KitfileConfigSchema` (config-blob JSON): adds `digest`/`diffId` and drops unknown keys,
 *   as Go's encoding/json does; old configs without digests are fine.
 *
 * Only `parameters` is free-form. A null YAML item in a list decodes to a zero value upstream,
 * hence the `?? {}` / `?? ''` preprocessing.
 */
import { z } from 'zod';
import type { Kitfile } from './types.js';

function build(config: boolean) {
  const obj = <T extends z.ZodRawShape>(shape: T) => (config ? z.object(shape) : z.strictObject(shape)) as z.ZodObject<T>;
  const str = z.string().optional();
  // Typed as always present so both flavours infer the same output; absent at runtime for YAML.
  const layer = (config ? { digest: str, diffId: str } : {}) as { digest: typeof str; diffId: typeof str };
  const list = <T extends z.ZodType>(item: T, zero: unknown) => z.array(z.preprocess((v) => v ?? zero, item)).optional();
  const parameters = z.unknown().optional();

  const Package = obj({ name: str, version: str, description: str, license: str, authors: list(z.string(), '') });
  const ModelPart = obj({ name: str, path: str, license: str, type: str, ...layer });
  const Model = obj({
    name: str, path: str, license: str, framework: str, format: str, version: str, description: str,
    parts: list(ModelPart, {}), parameters, ...layer,
  });
  const Code = obj({ path: str, description: str, license: str, ...layer });
  const Dataset = obj({
    name: str, path: str, remotePath: str, remoteHash: str, description: str, license: str, parameters, ...layer,
  });
  // docs[].path is not omitempty upstream: always present, '' when unset.
  const Docs = obj({ path: z.string().default(''), description: str, ...layer });
  const Prompt = obj({ name: str, path: str, description: str, ...layer });
  const McpServer = obj({ name: str, path: str, description: str, ...layer });
  const Kitfile = obj({
    manifestVersion: z.string().default(''),
    package: Package.default({}),
    model: Model.optional(),
    code: list(Code, {}),
    datasets: list(Dataset, {}),
    docs: list(Docs, {}),
    prompts: list(Prompt, {}),
    mcpServers: list(McpServer, {}),
  });
  // Sections by dotted path with list indexes removed, for "allowed keys" hints.
  const sections: Record<string, z.ZodObject> = {
    '': Kitfile, package: Package, model: Model, 'model.parts': ModelPart, code: Code, datasets: Dataset,
    docs: Docs, prompts: Prompt, mcpServers: McpServer,
  };
  return { Kitfile, sections };
}

const yamlSchemas = build(false);
const configSchemas = build(true);

/** The Kitfile as written in YAML: unknown keys rejected. */
export const KitfileSchema = yamlSchemas.Kitfile;
/** The Kitfile as stored in the config blob: digests allowed, unknown keys ignored. */
export const KitfileConfigSchema = configSchemas.Kitfile;

/** The keys allowed in the YAML object at `path` (list indexes ignored), in Go struct order. */
export function allowedKeys(path: readonly PropertyKey[]): string[] {
  const section = path.filter((p) => typeof p === 'string').join('.');
  return Object.hasOwn(yamlSchemas.sections, section) ? Object.keys(yamlSchemas.sections[section].shape) : [];
}

// Compile-time guarantee that what the schemas produce is a Kitfile.
type Assignable<T extends Kitfile> = T;
export type KitfileSchemaOutput = Assignable<z.output<typeof KitfileSchema>>;
export type KitfileConfigSchemaOutput = Assignable<z.output<typeof KitfileConfigSchema>>;
