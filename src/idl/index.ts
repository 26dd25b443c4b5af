// The `.x` compiler: rpcgen's interface language (RFC 4506 §6, RFC 5531 §12) in, a TypeScript
// module out (docs/idl.md). Imports only core/; the code it writes imports only `farcall`.
import { generateTs } from "./generate.js";
import { parseX } from "./parser.js";

export interface CompileXOptions {
  /** The `.x` file's name, for error messages and the generated module's name. Default `input.x`. */
  readonly fileName?: string;
  /** The module the generated code imports farcall from. Default `farcall`. */
  readonly importFrom?: string;
  /** `js`: a JavaScript module without the types (for loading a `.x` file at run time). Default `ts`. */
  readonly language?: "ts" | "js";
}

export interface CompiledX {
  /** The generated module's file name: the `.x` file's with `.ts`. */
  readonly fileName: string;
  readonly code: string;
}

/**
 * Compiles one `.x` file to TypeScript.
 * @throws RpcError `invalid_argument`: `file:line:column: what was expected`.
 */
export function compileX(text: string, options: CompileXOptions = {}): CompiledX {
  const fileName = options.fileName ?? "input.x";
  const base = fileName.replace(/^.*[/\\]/, "").replace(/\.x$/, "");
  const code = generateTs(parseX(text, fileName), {
    fileName: fileName.replace(/^.*[/\\]/, ""),
    importFrom: options.importFrom,
    language: options.language,
  });
  return { fileName: `${base}.${options.language ?? "ts"}`, code };
}
