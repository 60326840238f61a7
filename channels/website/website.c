/* website adapter (work in progress). */
#include <herald/channel.h>
const struct hd_channel *hd_channel_website(void);
const struct hd_channel *hd_channel_website(void)
{
    return 0;
}
