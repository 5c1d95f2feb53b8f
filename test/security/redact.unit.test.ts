import assert from 'node:assert/strict';
import { it } from 'node:test';
import { redactUrl } from '../../src/util/redact.js';

it('a broker URL loses its credentials before it is logged or shown', () => {
  assert.equal(redactUrl('mqtts://gw-7:s3cret@cloud.example.com:8883'), 'mqtts://cloud.example.com:8883');
  assert.equal(redactUrl('mqtt://cloud.example.com:1883'), 'mqtt://cloud.example.com:1883');
  assert.equal(redactUrl('not a url s3cret'), '<unparsable url>');
});
