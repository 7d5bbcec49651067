/**
 * GET /v1/config (viewer): which site file is in service, since when, its content hash and the last
 * reload's outcome. POST /v1/config/reload (operator): read the file now and apply it; a file with
 * problems is refused (422) with one field per problem, and the last good config stays in force.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiErrorSchema, HttpError } from '../api/errors.ts';
import type { ConfigStatus, ReloadOutcome, ReloadTrigger } from './reloadModule.ts';

/** What the routes need; the ConfigReloadModule provides it. */
export interface ConfigService {
  status(): ConfigStatus;
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
}

const RestartRequiredSchema = z.object({
  path: z.string().describe('site file field, e.g. broker.url'),
  message: z.string(),
});

export const ReloadOutcomeSchema = z.object({
  at: z.string().describe('when the reload ran (ISO 8601)'),
  trigger: z.enum(['watch', 'signal', 'api']),
  ok: z.boolean().describe('false: refused, the last good config stays in force'),
  changes: z.array(z.string()).describe('what changed, one line per kind; empty when nothing did'),
  restartRequired: z
    .array(RestartRequiredSchema)
    .describe('changed fields that keep their running value until the agent restarts'),
  moduleErrors: z.array(z.object({ module: z.string(), message: z.string() })),
  problems: z.array(z.string()).describe('refused: `file: path: message` lines, as hotaisle validate prints'),
});

export const ConfigStatusSchema = z.object({
  site: z.string(),
  file: z.string(),
  loadedAt: z.string().describe('when the config in service was loaded (ISO 8601)'),
  version: z.string().nullable().describe('content hash of the site file in service'),
  watching: z.boolean().describe('the file is watched and changes apply on their own'),
  lastReload: ReloadOutcomeSchema.nullable(),
});

function outcomeBody(o: ReloadOutcome): z.infer<typeof ReloadOutcomeSchema> {
  const { fields: _, ...rest } = o;
  return { ...rest, at: new Date(o.at).toISOString() };
}

export function configRoutes(service: ConfigService) {
  return (root: FastifyInstance) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/config',
      { config: { role: 'viewer' }, schema: { response: { 200: ConfigStatusSchema } } },
      async () => {
        const s = service.status();
        return {
          site: s.site,
          file: s.file,
          loadedAt: new Date(s.loadedAt).toISOString(),
          version: s.version ?? null,
          watching: s.watching,
          lastReload: s.lastReload ? outcomeBody(s.lastReload) : null,
        };
      },
    );
    app.post(
      '/v1/config/reload',
      {
        config: { role: 'operator' },
        schema: { response: { 200: ReloadOutcomeSchema, 422: ApiErrorSchema } },
      },
      async () => {
        const outcome = await service.reload('api');
        if (!outcome.ok) {
          throw new HttpError(
            422,
            'HOTAISLE_CONFIG_INVALID',
            `site file refused; the last good config stays in force:\n${outcome.problems.join('\n')}`,
            outcome.fields,
          );
        }
        return outcomeBody(outcome);
      },
    );
  };
}
