// Pages whose own work is not a feed (a job's progress, a generated answer) still show the bell:
// their event stream carries the bell topic alone, for a signed-in user.
import { pageStream } from './bell.js'

pageStream([]).catch(() => {})
