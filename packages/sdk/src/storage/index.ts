export {
  StorageManager,
  type StorageOptions,
  type TransferOptions,
  type DownloadOptions,
  type GetLocalCopyOptions,
  type UploadResult,
  type DownloadResult,
} from './storage-manager.js';
export { destinationFor, joinUrl, quoteKeyPart, type StorageConfig } from './storage-url.js';
export { PROGRESS_MIN_BYTES, type TransferProgress, type ProgressListener } from './transfer-meter.js';
export { zipFolder, extractZip, type ZipSummary, type ZipFolderOptions } from './zip.js';
