/**
 * The Kitfile domain model (KitOps Kitfile v1.0.0). Key order in these interfaces is the Go
 * struct order upstream uses, which is also the key order of the config-blob JSON.
 * `digest` and `diffId` exist only in the config JSON (never in YAML): pack fills them in.
 */
export type ParameterValue = unknown;

export interface LayerDigests {
  digest?: string;
  diffId?: string;
}

export interface Package {
  name?: string;
  version?: string;
  description?: string;
  license?: string;
  authors?: string[];
}

export interface ModelPart extends LayerDigests {
  name?: string;
  path?: string;
  license?: string;
  type?: string;
}

export interface Model extends LayerDigests {
  name?: string;
  path?: string;
  license?: string;
  framework?: string;
  format?: string;
  version?: string;
  description?: string;
  parts?: ModelPart[];
  parameters?: ParameterValue;
}

export interface Code extends LayerDigests {
  path?: string;
  description?: string;
  license?: string;
}

export interface Dataset extends LayerDigests {
  name?: string;
  path?: string;
  remotePath?: string;
  remoteHash?: string;
  description?: string;
  license?: string;
  parameters?: ParameterValue;
}

export interface Docs extends LayerDigests {
  path: string;
  description?: string;
}

export interface Prompt extends LayerDigests {
  name?: string;
  path?: string;
  description?: string;
}

export interface McpServer extends LayerDigests {
  name?: string;
  path?: string;
  description?: string;
}

export interface Kitfile {
  manifestVersion: string;
  package: Package;
  model?: Model;
  code?: Code[];
  datasets?: Dataset[];
  docs?: Docs[];
  prompts?: Prompt[];
  mcpServers?: McpServer[];
}

/** The kinds of Kitfile element that become layers. */
export type LayerKind = 'model' | 'modelpart' | 'code' | 'dataset' | 'docs' | 'prompt' | 'mcpserver';
