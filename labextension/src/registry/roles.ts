/**
 * Which buttons the signed-in identity may use. The server enforces every rule (roles,
 * separation of duties); these only decide what is enabled and what the tooltip says,
 * with the same role sets as the service ops' WRITE_ROLES.
 */
import { IPanelContext, IWhoami } from '../context';
import { usePoll } from '../poll';

export const APPROVERS = ['approver', 'admin'];
export const REJECTERS = ['approver', 'validator', 'admin'];
export const REQUESTERS = ['data_scientist', 'admin'];
export const DEPLOYERS = ['deployer', 'admin'];

/** The signed-in user name (`/whoami` answers `username`; the context names it `user`). */
export function currentUser(whoami: IWhoami | undefined): string | undefined {
  if (!whoami) {
    return undefined;
  }
  const raw = whoami as unknown as Record<string, unknown>;
  const name = whoami.user ?? raw.username;
  return typeof name === 'string' && name ? name : undefined;
}

export function hasRole(whoami: IWhoami | undefined, allowed: string[]): boolean {
  return !!whoami?.roles?.some(role => allowed.includes(role));
}

/** Why the identity lacks a role, or '' when it has one of `allowed`. */
export function roleRefusal(
  whoami: IWhoami | undefined,
  allowed: string[],
  action: string
): string {
  if (!whoami) {
    return `Signing in to the registry… ${action} is unavailable until your roles are known`;
  }
  if (hasRole(whoami, allowed)) {
    return '';
  }
  const user = currentUser(whoami) ?? 'you';
  return `${user} may not ${action}: it needs the role ${allowed.join(' or ')}`;
}

/**
 * The identity on `ctx.shared`: the panel's when it has one, else asked here (so the
 * buttons do not wait on the panel, and a failed first try is retried).
 */
export function useWhoami(ctx: IPanelContext): IWhoami | undefined {
  const known = ctx.whoami;
  const polled = usePoll<IWhoami | undefined>(
    async () => (known ? known : ctx.shared.get<IWhoami>('/whoami')),
    [ctx.shared, known],
    60000
  );
  return known ?? polled.data;
}
