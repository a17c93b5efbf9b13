// Runs Powertools TypeScript's AppConfig Agent reader, unmodified, and prints what it returned
// as one JSON line: {"value": ...} or {"error": <class name>, "message": ...}.
//   node get_config.mjs <profile> <application> <environment> [transform] [throwOnMissing]
import { getConfig } from '@aws-lambda-powertools/parameters/appconfig-agent';

const [name, application, environment, transform, throwOnMissing] = process.argv.slice(2);
const options = { application, environment };
if (transform) options.transform = transform;
if (throwOnMissing === 'true') options.throwOnMissing = true;
try {
  const value = await getConfig(name, options);
  console.log(JSON.stringify({ value: value === undefined ? null : value, missing: value === undefined }));
} catch (error) {
  console.log(JSON.stringify({ error: error.constructor.name, message: error.message }));
}
