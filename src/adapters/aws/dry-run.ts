/** One SDK call a dry run saw: reads may be sent (they change nothing); mutating calls never are. */
export interface RecordedCall {
  readonly service: string;
  readonly command: string;
  readonly input: unknown;
  /** True for a read that was sent to AWS; false for a call only recorded. */
  readonly sent: boolean;
}

/** Calls that read only, by the SDK's naming: everything else may change something. */
const READ = /^(Describe|Get|List|BatchGet)/;

interface SdkCommand {
  readonly input: unknown;
}

/**
 * A stand-in for an SDK client in a dry run: every call is recorded with its exact input; reads
 * are sent to `client` when one is given (so later inputs can be exact), mutating calls never are:
 * they are answered with `answers[command]` (for example a placeholder ARN) instead.
 */
export function dryRunClient<C>(
  service: string,
  calls: RecordedCall[],
  client?: { send(command: never): Promise<unknown> },
  answers: Readonly<Record<string, unknown>> = {},
): C {
  return {
    async send(command: SdkCommand) {
      const name = command.constructor.name.replace(/Command$/, '');
      const read = READ.test(name);
      calls.push({ service, command: name, input: command.input, sent: read && client !== undefined });
      if (read && client) return client.send(command as never);
      return answers[name] ?? {};
    },
  } as C;
}
