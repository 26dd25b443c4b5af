// Numbers of ONC RPC version 2 (RFC 5531 §9 and §8.2).

export const rpcVersion = 2;
export const msgCall = 0;
export const msgReply = 1;
export const replyAccepted = 0;
export const replyDenied = 1;

/** accept_stat */
export const Accept = Object.freeze({
  SUCCESS: 0,
  PROG_UNAVAIL: 1,
  PROG_MISMATCH: 2,
  PROC_UNAVAIL: 3,
  GARBAGE_ARGS: 4,
  SYSTEM_ERR: 5,
});
/** reject_stat */
export const Reject = Object.freeze({ RPC_MISMATCH: 0, AUTH_ERROR: 1 });
/** auth_stat */
export const AuthStat = Object.freeze({
  AUTH_OK: 0,
  AUTH_BADCRED: 1,
  AUTH_REJECTEDCRED: 2,
  AUTH_BADVERF: 3,
  AUTH_REJECTEDVERF: 4,
  AUTH_TOOWEAK: 5,
  AUTH_INVALIDRESP: 6,
  AUTH_FAILED: 7,
});
/** auth_flavor */
export const authNone = 0;
export const authSys = 1;
/** An opaque_auth body may hold at most 400 bytes (RFC 5531 §8.2). */
export const maxAuthBytes = 400;
/** The record mark's last-fragment bit (RFC 5531 §11). */
export const lastFragment = 0x8000_0000;
