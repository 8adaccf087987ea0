// Owns the uploads' seam to files (worker/files/): spaces, names, folder checks and the one way to create
// a file record. Kept in one place so the upload code names what it needs from files, nothing more.
export { cleanName } from "../files/names.ts";
export {
  assertFolderWritable,
  createFileRecord,
  type FileRow,
  fileStorageKey,
  insertFileIf,
  liveFolderOf,
  liveFolderStatement,
  type NewFile,
} from "../files/records.ts";
export { policySubject, resolveSpace, type Space, type SpaceRef, spaceRefOf } from "../files/spaces.ts";
