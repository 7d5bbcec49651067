/** Public API of the recommendations (placement ranking, batch windows, scheduler adapters). */
export { RecommendModule, type RecommendModuleOptions } from './module.ts';
export { RecommendService, type RecommendServiceOptions, PROPOSAL_TTL_MS } from './service.ts';
export { recommendRoutes, type RecommendRouteOptions } from './routes.ts';
export { rankPlacements, judgeNodes, feedLoads, type PlacementContext, type PlacementRanking, type NodeVerdict } from './placement.ts';
export { planWindow, costOf, mergeIntervals, SLOT_MS, type WindowJob, type WindowEnv, type WindowPlan, type Interval } from './windows.ts';
export { ClusterState, type AcceptedPlacement, type NodeAllocation, type NodeView } from './state.ts';
export { ReservationPlan, type Reservation } from './reservations.ts';
export {
  LayoutThermalModel,
  forecastThermalModel,
  type ThermalModel,
  type RackSensitivityView,
  type ForecastSource,
  type ForecastSetLike,
  type RackSensitivityLike,
} from './thermal.ts';
export { extenderFilter, extenderPrioritize, podToJob, ANNOTATIONS, MAX_EXTENDER_PRIORITY } from './k8s.ts';
export * from './schemas.ts';
