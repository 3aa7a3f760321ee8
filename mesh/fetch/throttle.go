package fetch

import (
	"net/http"
	"time"
)

// throttledError asks Config.ThrottledError whether an error answer is a throttling answer. A 429
// is throttling already and a success goes to Config.Throttled instead, so neither is asked about.
// A negative wait counts as none.
func (c *Client) throttledError(status int, body []byte) (time.Duration, bool) {
	if c.cfg.ThrottledError == nil || status == 0 || status == http.StatusTooManyRequests || isSuccess(status) {
		return 0, false
	}
	if len(body) > ErrorBodyBytes {
		body = body[:ErrorBodyBytes]
	}
	wait, yes := c.cfg.ThrottledError(status, body)
	return max(wait, 0), yes
}
