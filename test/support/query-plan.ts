/** A node of PostgreSQL's `EXPLAIN (FORMAT JSON)` output, with the fields the plan tests read. */
export interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Index Cond'?: string
  'Actual Rows'?: number
  'Actual Loops'?: number
  Plans?: PlanNode[]
}

/** The root node of an EXPLAIN's `QUERY PLAN` value: postgres.js parses the JSON, PGlite hands over text. */
export function planRoot(queryPlan: unknown): PlanNode {
  const parsed = (typeof queryPlan === 'string' ? JSON.parse(queryPlan) : queryPlan) as { Plan: PlanNode }[]
  return (parsed[0] as { Plan: PlanNode }).Plan
}

/** Every node of the plan, the root first. */
export function* planNodes(node: PlanNode): Generator<PlanNode> {
  yield node
  for (const child of node.Plans ?? []) yield* planNodes(child)
}
