/**
 * The one MessagePack codec. Plain MessagePack only (no msgpackr records or extensions), so that the
 * R worker's small codec can read and write exactly the same bytes: maps become objects, whole numbers
 * within 32 bits become ints, every other number a float64, null is nil.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' });

export const codec = {
  encode(value: unknown): Buffer {
    return packr.pack(value);
  },
  decode(bytes: Buffer | Uint8Array): unknown {
    return packr.unpack(bytes);
  },
};
