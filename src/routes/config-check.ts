// What `edgebus check` and `edgebus start` ask of a route beyond its schema: conditions and
// topic templates that compile (config/load.ts calls it for each sound route and places the
// error at its file:line). It lives here because a route's conditions are the rules' language.
import type { RouteCheck } from '../config/load.js';
import { RuleError } from '../rules/types.js';
import { compileRoute } from './route.js';

export const routeCompiles: RouteCheck = (route, gatewayId, path) => {
  try {
    compileRoute(route, gatewayId, path);
    return null;
  } catch (err) {
    if (!(err instanceof RuleError)) throw err;
    return { path: err.path, message: err.message };
  }
};
