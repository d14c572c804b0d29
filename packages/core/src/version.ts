/** Our version, recorded in every manifest's ml.kitops.modelkit.cli-version annotation. */
export const TOOL_VERSION = '0.1.0';
