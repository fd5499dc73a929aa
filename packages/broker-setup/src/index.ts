export {
  BROKER_DELIVERY_LIMIT,
  brokerDefinitions,
  deliveryLimitPolicies,
  serviceAccess,
  sharedObjects,
  type BrokerDefinitions,
  type ServiceAccess,
  type ServiceCredentials,
} from './access-rules';
export { brokerAdmin, type BrokerAdmin } from './broker-admin';
export { amqpUrlVariable, credentialsFromEnvironment, MIN_PASSWORD_LENGTH } from './service-credentials';
