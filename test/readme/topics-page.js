const events = new EventSource('/events?topics=dashboard,bell')
events.addEventListener('dashboard.stats', (e) => showStats(JSON.parse(e.data)))
events.addEventListener('bell.notification', (e) => ring(JSON.parse(e.data)))
// This topic's position could not be served (too far behind, or an unusable id): reload it.
events.addEventListener('bell.reset', () => reloadBell())
