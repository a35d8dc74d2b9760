/**
 * Files the command line names (`--input-file`, `--output`, the configuration file, a secret's
 * `{ file: ... }`): read and written with messages for a person. "no such file", "it is a
 * directory, not a file", "permission denied", "not UTF-8 text: save it as UTF-8", never
 * `BadResource: FileSystem.readFile (...)` or an errno dump.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"
import { FileError } from "../Errors.js"

const byCode: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EISDIR: "it is a directory, not a file",
  ENOTDIR: "a part of its path is not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many symbolic links (a loop?)",
  ENAMETOOLONG: "the name is too long",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exceeded",
  EMFILE: "too many open files",
  EBUSY: "the file is busy",
  EEXIST: "it already exists",
  EINVAL: "not a file that can be read"
}

const byReason: Readonly<Record<string, string>> = {
  NotFound: "no such file",
  PermissionDenied: "permission denied",
  BadResource: "not a regular file",
  AlreadyExists: "it already exists",
  Busy: "the file is busy",
  InvalidData: "the data is invalid"
}

/**
 * What went wrong with a file, in words: from a Node error (its `code`) or a platform
 * `SystemError` (the Node error it wraps, else its `reason`).
 *
 * @since 0.1.0
 */
export const problem = (error: unknown): string => {
  const e = error as { readonly code?: unknown; readonly cause?: { readonly code?: unknown }; readonly reason?: unknown; readonly message?: unknown }
  const code = typeof e?.code === "string" ? e.code : typeof e?.cause?.code === "string" ? e.cause.code : undefined
  const known = code !== undefined ? byCode[code] : undefined
  if (known !== undefined) return known
  const reason = typeof e?.reason === "string" ? byReason[e.reason] : undefined
  if (reason !== undefined) return reason
  // An errno without a sentence here: its code and Node's short text ("EIO: i/o error"), without
  // the syscall and path Node appends.
  if (code !== undefined) {
    const text = typeof e.cause?.code === "string" ? String((e.cause as { message?: unknown }).message ?? "") : String(e.message ?? "")
    return text.split(",")[0]!.trim() || code
  }
  return typeof e?.message === "string" ? e.message : String(error)
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Read a text file named on the command line: UTF-8 (a byte-order mark is dropped), anything
 * else refused with what to do. `usage` (default true) is whether it is the user's file (exit
 * 2) rather than the environment's (exit 4).
 *
 * @since 0.1.0
 */
export const readText = (
  path: string,
  options: { readonly usage?: boolean | undefined } = {}
): Effect.Effect<string, FileError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const usage = options.usage ?? true
    const bytes = yield* fs.readFile(path).pipe(
      Effect.mapError((error) => new FileError({ file: path, reason: problem(error), usage }))
    )
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      return yield* new FileError({ file: path, reason: "not UTF-8 text: save it as UTF-8", usage })
    }
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  })

/**
 * Write a text file named on the command line.
 *
 * @since 0.1.0
 */
export const writeText = (path: string, text: string): Effect.Effect<void, FileError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    fs.writeFileString(path, text).pipe(
      Effect.mapError((error) => {
        const reason = problem(error)
        // Writing, "no such file" means the directory is missing.
        return new FileError({ file: path, reason: `cannot write it: ${reason === byCode.ENOENT ? "its directory does not exist" : reason}` })
      })
    ))
