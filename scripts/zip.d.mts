// Types for scripts/zip.mjs (imported by the package test).
export interface ZipEntry { name: string; data: Buffer }
export function crc32(buf: Uint8Array): number;
export function writeZip(path: string, entries: ZipEntry[]): { bytes: number };
export function readZip(zip: Buffer): ZipEntry[];
