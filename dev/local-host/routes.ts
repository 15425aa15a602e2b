// Functions-style route templates (`users/{id}/sync`, `{name?}`, `{id:guid}`), literal segments winning over parameters.

export interface RouteMatch<T> {
  target: T;
  params: Record<string, string>;
}

interface CompiledRoute<T> {
  target: T;
  methods: Set<string>;
  segments: Array<{ literal: string } | { param: string; optional: boolean; catchAll?: boolean }>;
  literalCount: number;
}

export class RouteTable<T> {
  private readonly routes: CompiledRoute<T>[] = [];

  add(template: string, methods: string[], target: T): void {
    const segments = template.replace(/^\/+|\/+$/g, "").split("/").filter(Boolean).map((segment) => {
      const catchAll = /^\{\*([A-Za-z0-9_]+)\}$/.exec(segment);
      if (catchAll) return { param: catchAll[1]!, optional: true, catchAll: true };
      const param = /^\{([A-Za-z0-9_]+)(?::[^}?]+)?(\?)?\}$/.exec(segment);
      return param ? { param: param[1]!, optional: Boolean(param[2]) } : { literal: segment.toLowerCase() };
    });
    this.routes.push({ target, methods: new Set(methods.map((m) => m.toUpperCase())), segments, literalCount: segments.filter((s) => "literal" in s).length });
    this.routes.sort((a, b) => b.literalCount - a.literalCount || b.segments.length - a.segments.length);
  }

  /** The best route for the path; `methodAllowed` false when only the method is wrong (405). */
  match(method: string, path: string): { match?: RouteMatch<T>; pathMatched: boolean } {
    const parts = path.replace(/^\/+|\/+$/g, "").split("/").filter(Boolean).map((p) => decodeURIComponent(p));
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.methods.has(method.toUpperCase())) return { match: { target: route.target, params }, pathMatched };
    }
    return { pathMatched };
  }
}

function matchSegments(segments: CompiledRoute<unknown>["segments"], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i];
    if ("literal" in segment) {
      if (part?.toLowerCase() !== segment.literal) return undefined;
    } else if (segment.catchAll) {
      // `{*path}` takes the rest of the path, which may be empty.
      params[segment.param] = parts.slice(i).join("/");
      return params;
    } else if (part === undefined) {
      if (!segment.optional) return undefined;
    } else {
      params[segment.param] = part;
    }
  }
  return parts.length <= segments.length ? params : undefined;
}
