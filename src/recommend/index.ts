/** Public API of the recommendations (placement ranking, batch windows, scheduler adapters). */

export { type ZoneCooling, zoneCooling, zoneShortOfCooling } from './cooling.ts';
export { ANNOTATIONS, extenderFilter, extenderPrioritize, MAX_EXTENDER_PRIORITY, podToJob } from './k8s.ts';
export { RecommendModule, type RecommendModuleOptions } from './module.ts';
export {
  feedLoads,
  judgeNodes,
  type NodeVerdict,
  type PlacementContext,
  type PlacementRanking,
  rankPlacements,
} from './placement.ts';
export { type DeliveryStats, type PushStats, RecommendPublisher } from './publisher.ts';
export * from './pushPayloads.ts';
export { type Reservation, ReservationPlan } from './reservations.ts';
export { type RecommendRouteOptions, recommendRoutes } from './routes.ts';
export * from './schemas.ts';
export { PROPOSAL_TTL_MS, RecommendService, type RecommendServiceOptions } from './service.ts';
export { SLURM_REFUSED_WEIGHT, type SlurmNodeWeight, slurmWeights } from './slurm.ts';
export { type AcceptedPlacement, ClusterState, type NodeAllocation, type NodeView } from './state.ts';
export {
  type ForecastSetLike,
  type ForecastSource,
  forecastThermalModel,
  LayoutThermalModel,
  type RackSensitivityLike,
  type RackSensitivityView,
  type ThermalModel,
} from './thermal.ts';
export {
  costOf,
  type Interval,
  mergeIntervals,
  planWindow,
  SLOT_MS,
  type WindowEnv,
  type WindowJob,
  type WindowPlan,
} from './windows.ts';
