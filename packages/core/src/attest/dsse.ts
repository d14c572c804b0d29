/**
 * DSSE v1 pre-authentication encoding: what a DSSE signature actually covers, binding the payload
 * type to the payload so neither can be swapped. `DSSEv1 <len(type)> <type> <len(payload)> <payload>`,
 * lengths in ASCII decimal bytes (secure-systems-lab/dsse protocol.md).
 */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}
