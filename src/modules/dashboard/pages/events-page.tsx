import type { AppRow } from '../../apps/apps.repository.ts'
import type { EventFilter, EventLine } from '../dashboard.repository.ts'
import { Page, type PageContext, Table, utcTime } from './layout.tsx'

const when = utcTime

export function EventsPage(props: {
  context: PageContext
  app: AppRow
  eventTypes: readonly string[]
  filter: EventFilter
  events: EventLine[]
  /** Where the next (older) page starts, or null on the last page. */
  olderThan: string | null
}) {
  const { app, filter } = props
  const base = `/dashboard/apps/${app.id}/events`
  const query = (before: string) =>
    new URLSearchParams({
      type: filter.eventType,
      profile_id: filter.profileId,
      environment: filter.environment,
      before,
    }).toString()
  return (
    <Page title="Events" context={props.context} app={{ id: app.id, name: app.name, section: 'events' }}>
      <form method="get" action={base} class="filters" aria-label="Filter the events">
        <div class="field">
          <label for="filter-type">Type</label>
          <select id="filter-type" name="type">
            <option value="">All types</option>
            {props.eventTypes.map((type) => (
              <option value={type} selected={type === filter.eventType}>
                {type}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-profile">Profile id</label>
          <input id="filter-profile" name="profile_id" value={filter.profileId} />
        </div>
        <div class="field">
          <label for="filter-environment">Environment</label>
          <select id="filter-environment" name="environment">
            {['', 'Production', 'Sandbox'].map((environment) => (
              <option value={environment} selected={environment === filter.environment}>
                {environment === '' ? 'Both' : environment}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      {props.events.length === 0 ? (
        <p>No events.</p>
      ) : (
        <Table headers={['Written', 'Type', 'Business time', 'Environment', 'Profile', 'Event id']}>
          {props.events.map((event) => (
            <tr>
              <td>{when(event.createdAt)}</td>
              <td>{event.eventType}</td>
              <td>{when(event.eventDatetime)}</td>
              <td>{event.environment}</td>
              <td>
                <a href={`/dashboard/apps/${app.id}/profiles/${event.profileId}`}>
                  <code>{event.profileId}</code>
                </a>
              </td>
              <td>
                <code>{event.id}</code>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <nav class="pager" aria-label="Pages">
        {filter.before !== 0n && <a href={`${base}?${query('')}`}>Newest</a>}
        {props.olderThan !== null && <a href={`${base}?${query(props.olderThan)}`}>Older</a>}
      </nav>
    </Page>
  )
}
