import { describe, expect, it } from 'vitest';
import { clearmlConfSnippet, environmentSnippet } from './key-pair-snippets';

const SETUP = { origin: 'http://127.0.0.1:8008', accessKey: 'AK0123456789ABCDEFGHIJKLMNOPQR', secretKey: 'sEcReT-_x9' };

describe('key pair snippets', () => {
  it('writes the api section of clearml.conf with this server for the API, the UI and the files', () => {
    expect(clearmlConfSnippet(SETUP)).toMatchInlineSnapshot(`
      "api {
          web_server: http://127.0.0.1:8008
          api_server: http://127.0.0.1:8008
          files_server: http://127.0.0.1:8008/files
          credentials {
              "access_key" = "AK0123456789ABCDEFGHIJKLMNOPQR"
              "secret_key" = "sEcReT-_x9"
          }
      }"
    `);
  });

  it('writes environment variables for Tasklane and ClearML clients', () => {
    expect(environmentSnippet(SETUP)).toMatchInlineSnapshot(`
      "export TASKLANE_API_HOST=http://127.0.0.1:8008
      export TASKLANE_API_ACCESS_KEY=AK0123456789ABCDEFGHIJKLMNOPQR
      export TASKLANE_API_SECRET_KEY=sEcReT-_x9
      export CLEARML_API_HOST=http://127.0.0.1:8008
      export CLEARML_WEB_HOST=http://127.0.0.1:8008
      export CLEARML_FILES_HOST=http://127.0.0.1:8008/files
      export CLEARML_API_ACCESS_KEY=AK0123456789ABCDEFGHIJKLMNOPQR
      export CLEARML_API_SECRET_KEY=sEcReT-_x9"
    `);
  });

  it('quotes a value the shell would otherwise split or expand', () => {
    expect(environmentSnippet({ ...SETUP, secretKey: "a b$c'd" })).toContain(`export TASKLANE_API_SECRET_KEY='a b$c'\\''d'`);
  });
});
