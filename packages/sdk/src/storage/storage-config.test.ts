import { describe, expect, it } from 'vitest';
import { loadSdkConfig } from '../config.js';

// No config file: XDG_CONFIG_HOME points at a folder that does not exist.
const base = { XDG_CONFIG_HOME: '/nonexistent/tasklane-storage-config-test' };

describe('storage settings of loadSdkConfig', () => {
  it('defaults: a 10 GiB cache, AWS S3 with virtual-host addressing', () => {
    const config = loadSdkConfig(base);
    expect(config.cacheMaxBytes).toBe(10 * 1024 ** 3);
    expect(config.s3Endpoint).toBeUndefined();
    expect(config.s3ForcePathStyle).toBe(false);
  });

  it('reads TASKLANE_CACHE_MAX_BYTES, TASKLANE_S3_ENDPOINT and TASKLANE_S3_FORCE_PATH_STYLE', () => {
    const config = loadSdkConfig({
      ...base,
      TASKLANE_CACHE_MAX_BYTES: '1048576',
      TASKLANE_S3_ENDPOINT: 'http://127.0.0.1:9000',
      TASKLANE_S3_FORCE_PATH_STYLE: 'false',
    });
    expect(config).toMatchObject({ cacheMaxBytes: 1_048_576, s3Endpoint: 'http://127.0.0.1:9000', s3ForcePathStyle: false });
  });

  it('takes the AWS endpoint variables below its own, and path style by default with a custom endpoint', () => {
    expect(loadSdkConfig({ ...base, AWS_ENDPOINT_URL: 'http://a:1' })).toMatchObject({ s3Endpoint: 'http://a:1', s3ForcePathStyle: true });
    expect(loadSdkConfig({ ...base, AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'http://s3:2' }).s3Endpoint).toBe('http://s3:2');
    expect(loadSdkConfig({ ...base, AWS_ENDPOINT_URL_S3: 'http://s3:2', TASKLANE_S3_ENDPOINT: 'http://t:3' }).s3Endpoint).toBe('http://t:3');
  });

  it('names the variable of a bad value', () => {
    expect(() => loadSdkConfig({ ...base, AWS_ENDPOINT_URL_S3: 'not a url' })).toThrowErrorMatchingInlineSnapshot(
      `[TasklaneError: Invalid Tasklane SDK settings: AWS_ENDPOINT_URL_S3: Invalid URL]`,
    );
    expect(() => loadSdkConfig({ ...base, TASKLANE_CACHE_MAX_BYTES: '-5' })).toThrowErrorMatchingInlineSnapshot(
      `[TasklaneError: Invalid Tasklane SDK settings: TASKLANE_CACHE_MAX_BYTES: Too small: expected number to be >0]`,
    );
  });
});
