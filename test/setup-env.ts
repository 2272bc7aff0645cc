// Keep tests hermetic: no real credentials, no SDK version nag, no checkpoint calls.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret-for-tests';
process.env.AWS_REGION = process.env.AWS_REGION ?? 'eu-west-1';
process.env.CHECKPOINT_DISABLE = '1';
