/**
 * The Standard Schema interface (https://standardschema.dev), v1: implemented by zod, valibot,
 * arktype and others. Only the types are declared here; farcall depends on no validator.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** A validation result: a value, or a list of issues. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/** One validation issue. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The input type of a schema. */
export type InferInput<S> = S extends StandardSchemaV1<infer I, unknown> ? I : never;
/** The output type of a schema. */
export type InferOutput<S> = S extends StandardSchemaV1<unknown, infer O> ? O : never;

/** Issues in a plain form that every codec can carry: `{ message, path: ["a", 0] }`. */
export interface IssueDetail {
  message: string;
  path: (string | number)[];
}

/**
 * Runs a schema. Returns the (possibly transformed) value, or the issues in plain form.
 */
export async function runSchema(
  schema: StandardSchemaV1,
  value: unknown,
): Promise<{ ok: true; value: unknown } | { ok: false; issues: IssueDetail[] }> {
  let result = schema["~standard"].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues === undefined) return { ok: true, value: result.value };
  return {
    ok: false,
    issues: result.issues.map((issue) => ({
      message: String(issue.message),
      path: (issue.path ?? []).map((p) => {
        const key = typeof p === "object" && p !== null ? p.key : p;
        return typeof key === "number" ? key : String(key);
      }),
    })),
  };
}
