/** Registry authentication: credential sources, challenge parsing, scopes and the token manager. */
export {
  chainCredentials,
  defaultCredentials,
  type DefaultCredentialsOptions,
  type Credential,
  type CredentialSource,
  makeCredential,
  redactCredential,
  KitCredentialStore,
  KIT_CREDENTIALS_FILE,
  DockerConfigCredentials,
  dockerConfigPath,
  type DockerConfigOptions,
  runCredentialHelper,
  DEFAULT_HELPER_TIMEOUT_MS,
  type CredentialHelperOptions,
  credentialServerAddress,
  normaliseServerKey,
  DOCKER_HUB_SERVER_ADDRESS,
} from './credentials.js';
export { parseChallenges, type Challenge } from './challenge.js';
export { mergeScopes, repositoryScope } from './scope.js';
export { credentialError, CREDENTIAL_EXIT_CODE } from './errors.js';
export {
  AuthManager,
  TokenCache,
  type AuthHttp,
  type AuthHttpRequest,
  type AuthHttpResponse,
  type AuthManagerOptions,
  OAUTH2_CLIENT_ID,
  DEFAULT_TOKEN_LIFETIME_S,
  MAX_TOKEN_RESPONSE_BYTES,
} from './token.js';
