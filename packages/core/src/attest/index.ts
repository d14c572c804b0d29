export { generateKeyPair, keyId, type KeyAlgorithm, type KeyPairPem } from './keys.js';
export { writeKeyPair, loadPrivateKey, loadPublicKey, KEY_PASSWORD_ENV } from './key-files.js';
export { SIGSTORE_BUNDLE_MEDIA_TYPE } from './bundle.js';
export { IN_TOTO_PAYLOAD_TYPE, inTotoStatement, type InTotoStatement, type InTotoSubject } from './statement.js';
export { signMessage, signStatement } from './sign.js';
export { verifyBundle, type VerifiedBundle } from './verify.js';
