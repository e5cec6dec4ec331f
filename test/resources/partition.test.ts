import { describe, expect, it } from 'vitest';
import { arnOf, consoleHost, consoleUrl, ecrRegistry, partitionOf, serviceHost } from '../../src/resources/partition.js';

describe('partitions and hosts, not literals', () => {
  it.each([
    ['eu-west-1', 'aws', 'amazonaws.com'],
    ['cn-north-1', 'aws-cn', 'amazonaws.com.cn'],
    ['cn-northwest-1', 'aws-cn', 'amazonaws.com.cn'],
    ['us-gov-west-1', 'aws-us-gov', 'amazonaws.com'],
    ['eusc-de-east-1', 'aws-eusc', 'amazonaws.eu'],
    ['us-iso-east-1', 'aws-iso', 'c2s.ic.gov'],
    ['us-isob-east-1', 'aws-iso-b', 'sc2s.sgov.gov'],
    ['us-isof-south-1', 'aws-iso-f', 'csp.hci.ic.gov'],
    ['eu-isoe-west-1', 'aws-iso-e', 'cloud.adc-e.uk'],
  ])('%s is in %s, hosts under %s', (region, partition, urlSuffix) => {
    expect(partitionOf(region)).toEqual({ partition, urlSuffix });
  });

  it('the ECR registry host follows the region’s partition', () => {
    expect(ecrRegistry('123456789012', 'cn-north-1')).toBe('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn');
    expect(ecrRegistry('123456789012', 'eu-west-1')).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(ecrRegistry('123456789012', 'eusc-de-east-1')).toBe('123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu');
  });

  // Each partition: an ARN, a service host, and the console link (Logs Insights is built on it).
  it.each([
    [
      'eu-west-1',
      'arn:aws:ecs:eu-west-1',
      'ecs.eu-west-1.amazonaws.com',
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:logs-insights',
    ],
    [
      'cn-north-1',
      'arn:aws-cn:ecs:cn-north-1',
      'ecs.cn-north-1.amazonaws.com.cn',
      'https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#logsV2:logs-insights',
    ],
    [
      'us-gov-west-1',
      'arn:aws-us-gov:ecs:us-gov-west-1',
      'ecs.us-gov-west-1.amazonaws.com',
      'https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#logsV2:logs-insights',
    ],
    [
      'eusc-de-east-1',
      'arn:aws-eusc:ecs:eusc-de-east-1',
      'ecs.eusc-de-east-1.amazonaws.eu',
      'https://console.amazonaws-eusc.eu/cloudwatch/home?region=eusc-de-east-1#logsV2:logs-insights',
    ],
    ['us-iso-east-1', 'arn:aws-iso:ecs:us-iso-east-1', 'ecs.us-iso-east-1.c2s.ic.gov', undefined],
    ['us-isob-east-1', 'arn:aws-iso-b:ecs:us-isob-east-1', 'ecs.us-isob-east-1.sc2s.sgov.gov', undefined],
  ])('%s: ARN %s…, host %s, console link %s', (region, arnPrefix, host, link) => {
    expect(arnOf(region, 'ecs', '123456789012', 'service/prod/web')).toBe(`${arnPrefix}:123456789012:service/prod/web`);
    expect(serviceHost('ecs', region)).toBe(host);
    expect(consoleUrl(region, 'cloudwatch/home', 'logsV2:logs-insights')).toBe(link);
  });

  it('GovCloud’s console is one host for both regions, never <region>.console.aws.amazon.com', () => {
    expect(consoleHost('us-gov-east-1')).toBe('console.amazonaws-us-gov.com');
    expect(consoleHost('us-gov-west-1')).toBe('console.amazonaws-us-gov.com');
  });

  it('a value that is not a region name is a clear error, not a commercial ARN', () => {
    expect(() => partitionOf('Ireland')).toThrow('"Ireland" is not an AWS region name such as "eu-west-1": set AWS_REGION');
    expect(() => arnOf('', 'ecs', '123456789012', 'service/prod/web')).toThrow('is not an AWS region name');
  });
});
