/** The durable loop that runs releases: Step Functions in AWS, aws-local-stepfunctions locally. */
export interface Workflow {
  /** Starts the release's execution; starting the same release twice starts one execution. */
  start(releaseId: string, executionName: string): Promise<void>;
  /** Completes a waiting callback task (an approval) with `output`. */
  sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void>;
}
