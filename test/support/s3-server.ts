import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
// s3rver ships no type declarations.
import S3rver from 's3rver';

/** s3rver's fixed credentials: it checks request signatures against them. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * The AWS variables s3rver accepts, for a process (or `vi.stubEnv`) that reaches it through the AWS SDK's usual
 * credential chain; without AWS_REGION, so the fallback region is used.
 */
export const S3_ENV = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  // The AWS SDK warns once per process on Node 20 that its 2027 releases need Node 22; noise in test output.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** A real S3-compatible server (s3rver) on a free loopback port, storing into a temp folder. */
export interface TestS3Server {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  /** Creates a bucket through the AWS SDK, as a user would. */
  createBucket(name: string): Promise<void>;
  /** Every object key in `bucket` that starts with `prefix`, sorted: what is really stored, whoever stored it. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  /** The bytes of one object. */
  read(bucket: string, key: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startS3Server(): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'tasklane-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const admin = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
  return {
    endpoint,
    createBucket: async (name) => {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    keys: async (bucket, prefix = '') => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) keys.push(object.Key!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys.sort();
    },
    read: async (bucket, key) => {
      const reply = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await reply.Body!.transformToByteArray());
    },
    close: async () => {
      admin.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
