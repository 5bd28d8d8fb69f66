/**
 * A small `.npy` reader written from the format description (NEP 1), independent of the SDK's: it checks the magic,
 * version, header length and 64-byte alignment, and parses the header dict literally.
 */
export interface ParsedNpy {
  version: [number, number];
  headerText: string;
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
  data: Buffer;
}

export function readNpy(file: Buffer): ParsedNpy {
  if (file[0] !== 0x93 || file.subarray(1, 6).toString('latin1') !== 'NUMPY') throw new Error('bad magic');
  const version: [number, number] = [file[6]!, file[7]!];
  if (version[0] !== 1 || version[1] !== 0) throw new Error(`unexpected version ${version.join('.')}`);
  const headerLength = file[8]! + file[9]! * 256;
  const dataOffset = 10 + headerLength;
  if (dataOffset % 64 !== 0) throw new Error(`data offset ${dataOffset} is not a multiple of 64`);
  const headerText = file.subarray(10, dataOffset).toString('latin1');
  if (!headerText.endsWith('\n')) throw new Error('header does not end with a newline');
  const dict = /^\{'descr': '([^']+)', 'fortran_order': (True|False), 'shape': \(([^)]*)\), \} *\n$/.exec(headerText);
  if (!dict) throw new Error(`unexpected header ${JSON.stringify(headerText)}`);
  const shapeText = dict[3]!;
  const shape = shapeText === '' ? [] : shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => Number.parseInt(s, 10));
  return { version, headerText, descr: dict[1]!, fortranOrder: dict[2] === 'True', shape, dataOffset, data: file.subarray(dataOffset) };
}
