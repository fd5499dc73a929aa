import { messaging, messagingTables, waitingMessagesOf } from '@onboarding/messaging';
import { RemoteCallBreaker, defineService, numberList, route } from '@onboarding/service-kit';
import { AccountLinkSchema } from './accounts/account-link';
import { onActivationRejected } from './accounts/on-activation-rejected';
import { onDriverDeleted } from './accounts/on-driver-deleted';
import { onDriverRegistered } from './accounts/on-driver-registered';
import { onDriverUpdated } from './accounts/on-driver-updated';
import { accountRoutes } from './accounts/routes';
import { IDENTITY, IdentityEnv, graphTokenUrl, identityConfigProblems } from './config';
import { DirectoryRefusal, type DirectoryProvider } from './directory/directory';
import { GraphDirectory } from './directory/graph-directory';
import { LocalDirectory, LocalDirectoryUserSchema } from './directory/local-directory';
import { onDriverErased } from './erasure/on-driver-erased';
import { migrations } from './migrations';

/** The composition root: what the identity service is; the chassis wires and runs it. */
export const identityService = defineService({
  entry: IDENTITY,
  env: IdentityEnv,
  checkConfig: identityConfigProblems,
  database: { entities: [AccountLinkSchema, LocalDirectoryUserSchema], migrations, modules: [messagingTables] },
  compose: (context) => {
    const { config, orm, logger } = context;
    const breaker = new RemoteCallBreaker('directory', logger, {
      timeoutMs: config.GRAPH_TIMEOUT_MS + 1_000,
      resetTimeoutMs: config.GRAPH_BREAKER_RESET_MS,
      isHealthyFailure: (err) => err instanceof DirectoryRefusal,
    });
    const directory: DirectoryProvider =
      config.IDENTITY_PROVIDER === 'graph'
        ? new GraphDirectory({
            tenant: config.B2C_TENANT!,
            clientId: config.B2C_CLIENT_ID!,
            clientSecret: config.B2C_CLIENT_SECRET!,
            extensionsAppId: config.B2C_EXTENSIONS_APP_ID!,
            tokenUrl: graphTokenUrl(config),
            baseUrl: config.GRAPH_BASE_URL,
            timeoutMs: config.GRAPH_TIMEOUT_MS,
            breaker,
          })
        : new LocalDirectory(orm);
    const handlers = [
      ...onDriverRegistered(directory, numberList(config.CONSUME_REGISTERED_VERSIONS)),
      onDriverUpdated(directory),
      onDriverDeleted(directory),
      onActivationRejected(directory),
      onDriverErased(directory, waitingMessagesOf(context)),
    ];
    return {
      routes: [route(accountRoutes, { orm })],
      components: [messaging(context, { handlers, publishes: true, prefetch: config.CONSUMER_PREFETCH })],
      breakers: [breaker],
      expose: { directory },
    };
  },
});
