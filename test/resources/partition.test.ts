import { describe, expect, it } from 'vitest';
import { ecrRegistry, partitionOf } from '../../src/resources/partition.js';

describe('partitions and hosts, not literals', () => {
  it.each([
    ['eu-west-1', 'aws', 'amazonaws.com'],
    ['cn-north-1', 'aws-cn', 'amazonaws.com.cn'],
    ['cn-northwest-1', 'aws-cn', 'amazonaws.com.cn'],
    ['us-gov-west-1', 'aws-us-gov', 'amazonaws.com'],
    ['us-iso-east-1', 'aws-iso', 'c2s.ic.gov'],
    ['us-isob-east-1', 'aws-iso-b', 'sc2s.sgov.gov'],
  ])('%s is in %s, hosts under %s', (region, partition, urlSuffix) => {
    expect(partitionOf(region)).toEqual({ partition, urlSuffix });
  });

  it('the ECR registry host follows the region’s partition', () => {
    expect(ecrRegistry('123456789012', 'cn-north-1')).toBe('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn');
    expect(ecrRegistry('123456789012', 'eu-west-1')).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
  });
});
