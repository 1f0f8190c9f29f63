import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { ErrorCodes, UsageError } from '../errors.js';

/**
 * Tenant read credentials. Nothing is stored: each tenant's passwords are
 * derived from one secret, `POWERVIEW_TENANT_SECRET`, so provisioning (which
 * sets them in the databases) and `powerview grafana env` (which hands them to
 * Grafana) agree without a password file. A different purpose string per
 * store keeps one leaked password from revealing the other.
 */
export const TENANT_SECRET_VAR = 'POWERVIEW_TENANT_SECRET';
const MIN_SECRET_LENGTH = 16;

/** The secret from the environment, validated; undefined when unset. */
export function resolveTenantSecret(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const secret = env[TENANT_SECRET_VAR];
  if (secret === undefined || secret === '') return undefined;
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new UsageError(
      `${TENANT_SECRET_VAR} must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -base64 32)`,
      ErrorCodes.CONFIG,
    );
  }
  return secret;
}

export function requireTenantSecret(env: NodeJS.ProcessEnv = process.env): string {
  const secret = resolveTenantSecret(env);
  if (!secret) {
    throw new UsageError(
      `${TENANT_SECRET_VAR} is not set: the tenants' read passwords are derived from it (e.g. openssl rand -base64 32)`,
      ErrorCodes.CONFIG,
    );
  }
  return secret;
}

/** A tenant's read password for one store: HMAC-SHA256(secret, purpose), base64url (43 characters). */
export function tenantPassword(secret: string, tenant: string, store: 'pg' | 'influx'): string {
  return createHmac('sha256', secret).update(`powerview/${store}/read/${tenant}`).digest('base64url');
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 /
 * 7677, as libpq's PQencryptPasswordConn): the password itself never reaches
 * the server, its logs or pg_stat_activity.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const keys = `${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${keys}`;
}
