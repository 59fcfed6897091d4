import type { AppRow } from '../../apps/apps.repository.ts'
import type { AppStats } from '../../stats/stats.service.ts'
import { Page, type PageContext, Table } from './layout.tsx'

/** An app's overview: figures now, and per-day bar charts drawn as inline SVG (no script, no library). */

const WIDTH = 640
const HEIGHT = 140

function BarChart(props: {
  title: string
  id: string
  points: { date: string; value: number }[]
  money?: boolean
}) {
  const max = Math.max(...props.points.map((point) => point.value), 0)
  const total = props.points.reduce((sum, point) => sum + point.value, 0)
  const barWidth = WIDTH / props.points.length
  const format = (value: number) => (props.money ? `$${value.toFixed(2)}` : String(value))
  return (
    <figure class="chart card" aria-labelledby={`${props.id}-title`}>
      <figcaption id={`${props.id}-title`}>
        {props.title}: <strong>{format(Math.round(total * 100) / 100)}</strong> in {props.points.length} days
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${props.title} per day`}
        preserveAspectRatio="none"
      >
        {props.points.map((point, index) => {
          const height = max === 0 ? 0 : (point.value / max) * (HEIGHT - 4)
          return (
            <rect
              x={index * barWidth + 1}
              y={HEIGHT - height}
              width={Math.max(barWidth - 2, 1)}
              height={height}
              data-date={point.date}
              data-value={point.value}
            >
              <title>{`${point.date}: ${format(point.value)}`}</title>
            </rect>
          )
        })}
      </svg>
      <div class="axis">
        <span>{props.points[0]?.date}</span>
        <span>max {format(max)}</span>
        <span>{props.points.at(-1)?.date}</span>
      </div>
    </figure>
  )
}

export function OverviewPage(props: { context: PageContext; app: AppRow; stats: AppStats }) {
  const { app, stats } = props
  const base = `/dashboard/apps/${app.id}`
  const series = (pick: (day: AppStats['daily'][number]) => number) =>
    stats.daily.map((day) => ({ date: day.date, value: pick(day) }))
  const eventTypes = Object.entries(stats.eventsByType)
  return (
    <Page
      title={`${app.name}: overview`}
      context={props.context}
      app={{ id: app.id, name: app.name, section: 'overview' }}
    >
      <nav class="pager" aria-label="Period">
        {[30, 90].map((days) => (
          <a href={`${base}?days=${days}`} aria-current={days === stats.days ? 'page' : undefined}>
            Last {days} days
          </a>
        ))}
        <a href={`/admin/v1/apps/${app.id}/stats?days=${stats.days}`}>As JSON (admin API)</a>
      </nav>
      <p class="hint">
        Production only; days are UTC. As of {stats.asOf.toISOString().slice(0, 16).replace('T', ' ')} UTC.
      </p>
      <div class="tiles">
        <div class="tile card">
          <span class="tile-value" id="active-subscriptions">
            {stats.activeSubscriptions}
          </span>
          <span>active subscriptions</span>
        </div>
        <div class="tile card">
          <span class="tile-value" id="active-trials">
            {stats.activeTrials}
          </span>
          <span>active trials</span>
        </div>
      </div>
      <BarChart id="chart-new" title="New subscriptions" points={series((day) => day.newSubscriptions)} />
      <BarChart id="chart-trials" title="New trials" points={series((day) => day.newTrials)} />
      <BarChart
        id="chart-revenue"
        title="Revenue (USD, net of refunds)"
        points={series((day) => day.revenueUsd)}
        money
      />
      <BarChart id="chart-refunds" title="Refunds" points={series((day) => day.refunds)} />
      <section aria-labelledby="event-types">
        <h2 id="event-types">Events by type</h2>
        {eventTypes.length === 0 ? (
          <p>No events in this period.</p>
        ) : (
          <Table headers={['Type', 'Events']}>
            {eventTypes.map(([type, count]) => (
              <tr>
                <td>
                  <a href={`${base}/events?type=${type}`}>{type}</a>
                </td>
                <td>{count}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </Page>
  )
}
