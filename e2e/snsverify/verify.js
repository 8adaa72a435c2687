// Usage: node verify.js HOST_PATTERN < messages.json
//
// Reads a JSON array of SNS HTTP POST bodies, exactly as subscribers got
// them, and validates each with sns-validator: certificate URL (https,
// .pem, host matching HOST_PATTERN), certificate fetched from it, and the
// signature over the fields SNS signs. Prints one line per message, "ok" or
// "error: <why>", in order; exits 1 unless every message is ok.
'use strict';
const MessageValidator = require('sns-validator');

const validator = new MessageValidator(new RegExp(process.argv[2]));
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  const bodies = JSON.parse(input);
  let bad = 0;
  for (const body of bodies) {
    const err = await new Promise((resolve) => validator.validate(body, (e) => resolve(e)));
    if (err) {
      bad++;
      console.log('error: ' + (err.message || String(err)));
    } else {
      console.log('ok');
    }
  }
  process.exit(bad === 0 ? 0 : 1);
});
