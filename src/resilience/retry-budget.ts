/**
 * Retry throttling as gRPC specifies it (gRFC A6): a bucket of `maxTokens`; each failed attempt
 * takes one, each success gives back `tokenRatio`; retries are made only while more than half
 * the tokens are left, so an outage costs at most a few retries, not one per call.
 */
export class RetryBudget {
  private tokens: number;

  constructor(
    private readonly maxTokens = 10,
    private readonly tokenRatio = 0.1,
  ) {
    this.tokens = maxTokens;
  }

  failed(): void {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  succeeded(): void {
    if (this.tokens < this.maxTokens) this.tokens = Math.min(this.maxTokens, this.tokens + this.tokenRatio);
  }

  allows(): boolean {
    return this.tokens > this.maxTokens / 2;
  }
}
