export * from './file-store.ts';
export { FileLimitError, type FileLimit } from './file-limit-error.ts';
export { contentDisposition } from './content-disposition.ts';
export { createLineSplitter, readLines, type JsonlLine, type LineSplitter } from './jsonl-lines.ts';
