import { DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { registerRevision } from '../../../src/adapters/aws/task-definition.js';
import { PermissionError } from '../../../src/core/errors.js';

const ecs = mockClient(ECSClient);
afterEach(() => ecs.reset());

const input = { family: 'api', containerDefinitions: [{ name: 'app', image: 'repo@sha256:abc' }] };
const arn = (revision: number) => `arn:aws:ecs:eu-west-1:123456789012:task-definition/api:${revision}`;

describe('registering a release’s task definition revision', () => {
  it('a retry finds the identical revision it registered before instead of registering another', async () => {
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { ...input, taskDefinitionArn: arn(7), revision: 7, status: 'ACTIVE' } });
    expect(await registerRevision(new ECSClient({}), input)).toBe(arn(7));
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('a family ECS does not know yet is registered', async () => {
    ecs.on(DescribeTaskDefinitionCommand).rejects(Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' }));
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn(1) } });
    expect(await registerRevision(new ECSClient({}), input)).toBe(arn(1));
  });

  it('a missing permission to read the family is said, not taken for "no revision yet" (which would register one per retry)', async () => {
    ecs.on(DescribeTaskDefinitionCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn(8) } });
    await expect(registerRevision(new ECSClient({}), input)).rejects.toBeInstanceOf(PermissionError);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });
});
