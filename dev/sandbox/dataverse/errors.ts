// Dataverse error shape: `{"error":{"code":"0x...","message":"..."}}`; the code is unrelated to the HTTP status.
export class DataverseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export interface ErrorSpec {
  status: number;
  code: string;
  message: string;
}

export const fromSpec = (spec: ErrorSpec): DataverseError => new DataverseError(spec.status, spec.code, spec.message);

/** 0x80060888: the code Dataverse uses for malformed queries and unknown query properties. */
export const queryError = (message: string): DataverseError => new DataverseError(400, "0x80060888", message);

export const unknownProperty = (name: string, entity = "systemuser"): DataverseError =>
  queryError(`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${entity}'.`);

export const notFound = (id: string): DataverseError =>
  new DataverseError(404, "0x80040217", `SystemUser With Id = ${id} Does Not Exist`);
