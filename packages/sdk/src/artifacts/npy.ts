import { TasklaneError } from '@tasklane/protocol';

/** A typed array NumPy can store: its element type maps to one `.npy` dtype. */
export type NumericArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** An n-dimensional array: flat data in C (row-major) order, its shape and NumPy dtype (`'<f4'`, `'<i8'`, `'|u1'`...). */
export interface NdArray {
  data: NumericArray;
  shape: number[];
  dtype: string;
}

type NumericArrayConstructor = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): NumericArray; BYTES_PER_ELEMENT: number };

const DTYPES: readonly { kind: string; constructor: NumericArrayConstructor }[] = [
  { kind: 'i1', constructor: Int8Array },
  { kind: 'u1', constructor: Uint8Array },
  { kind: 'i2', constructor: Int16Array },
  { kind: 'u2', constructor: Uint16Array },
  { kind: 'i4', constructor: Int32Array },
  { kind: 'u4', constructor: Uint32Array },
  { kind: 'f4', constructor: Float32Array },
  { kind: 'f8', constructor: Float64Array },
  { kind: 'i8', constructor: BigInt64Array },
  { kind: 'u8', constructor: BigUint64Array },
];

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Whether `value` is a typed array `.npy` can hold (not a DataView, not a Float16Array). */
export function isNumericArray(value: unknown): value is NumericArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) && dtypeKindOf(value as NumericArray) !== undefined;
}

function dtypeKindOf(array: NumericArray): string | undefined {
  if (array instanceof Uint8ClampedArray) return 'u1';
  return DTYPES.find((d) => array.constructor === d.constructor)?.kind;
}

/** The NumPy dtype descr of a typed array: `'<f4'` for a Float32Array, `'|u1'` for bytes. */
export function dtypeOf(array: NumericArray): string {
  const kind = dtypeKindOf(array);
  if (kind === undefined) throw new TasklaneError('INVALID_INPUT', `No NumPy dtype for a ${array.constructor.name}.`);
  return `${kind.endsWith('1') ? '|' : '<'}${kind}`;
}

/** Python's repr of a shape tuple: `()`, `(3,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/**
 * Encodes an array in NumPy's `.npy` format version 1.0: the magic string, version, header length (little-endian
 * uint16), then the header dict (`descr`, `fortran_order`, `shape`) padded with spaces and ended by a newline so
 * the data starts at a multiple of 64 bytes, then the data (little-endian, C order).
 */
export function encodeNpy(data: NumericArray, shape: readonly number[] = [data.length]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || count !== data.length) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Cannot store a ${data.constructor.name} of ${data.length} elements with shape [${shape.join(', ')}]: the shape's dimensions must be whole numbers whose product is the number of elements.`,
    );
  }
  const dict = `{'descr': '${dtypeOf(data)}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const padding = (64 - (unpadded % 64)) % 64;
  const header = `${dict}${' '.repeat(padding)}\n`;
  if (header.length > 0xffff) throw new TasklaneError('INVALID_INPUT', `The shape [${shape.join(', ')}] has too many dimensions for a .npy header.`);
  const prefix = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const bytes = IS_LITTLE_ENDIAN ? body : Buffer.from(body);
  if (!IS_LITTLE_ENDIAN && data.BYTES_PER_ELEMENT > 1) swapBytes(bytes, data.BYTES_PER_ELEMENT);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), bytes]);
}

function badNpy(why: string): TasklaneError {
  return new TasklaneError('INVALID_INPUT', `Not a .npy file Tasklane can read: ${why}.`);
}

/** Decodes a `.npy` file (versions 1.0 to 3.0, C order, the integer and float dtypes {@link encodeNpy} writes). */
export function decodeNpy(file: Buffer): NdArray {
  if (file.length < 10 || !file.subarray(0, 6).equals(MAGIC)) throw badNpy('it does not start with \\x93NUMPY');
  const major = file[6]!;
  const headerLength = major === 1 ? file.readUInt16LE(8) : file.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = file.subarray(headerStart, headerStart + headerLength).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr':\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw badNpy(`its header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape`);
  if (fortran[1] === 'True') throw badNpy('it is in Fortran order');
  const type = DTYPES.find((d) => d.kind === descr[2]);
  if (!type) throw badNpy(`its dtype ${descr[1]}${descr[2]} is not an integer or float type`);
  const dims = shape[1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const width = type.constructor.BYTES_PER_ELEMENT;
  const start = headerStart + headerLength;
  if (file.length - start !== count * width) throw badNpy(`it holds ${file.length - start} data bytes, its header says ${count * width}`);
  // A copy: the file's buffer may not be aligned for the element type.
  const copy = new Uint8Array(count * width);
  copy.set(file.subarray(start));
  const isBigEndian = descr[1] === '>' || (descr[1] === '=' && !IS_LITTLE_ENDIAN);
  if (width > 1 && isBigEndian === IS_LITTLE_ENDIAN) swapBytes(copy, width);
  const data = new type.constructor(copy.buffer, 0, count);
  return { data, shape: dims, dtype: `${width === 1 ? '|' : '<'}${type.kind}` };
}
