//! Link events from rtnetlink (`RTMGRP_LINK`): a watched interface deleted, renamed or
//! created. The monitor only needs to know that something changed; it then compares each
//! watched name with what exists ([`crate::observe::ifindex`]) and detaches or attaches.
use std::io;

use futures::StreamExt as _;
use rtnetlink::sys::{AsyncSocket as _, SocketAddr};

/// Subscribed to link events. Dropping it closes the socket.
pub struct LinkEvents {
    messages: futures::channel::mpsc::UnboundedReceiver<(
        netlink_packet_core::NetlinkMessage<netlink_packet_route::RouteNetlinkMessage>,
        SocketAddr,
    )>,
    _handle: rtnetlink::Handle,
    task: tokio::task::JoinHandle<()>,
}

impl LinkEvents {
    /// Opens an rtnetlink socket in the link group (inside a tokio runtime).
    pub fn subscribe() -> io::Result<Self> {
        let (mut conn, handle, messages) = rtnetlink::new_connection()?;
        conn.socket_mut()
            .socket_mut()
            .bind(&SocketAddr::new(0, rtnetlink::constants::RTMGRP_LINK))?;
        let task = tokio::spawn(conn);
        Ok(Self {
            messages,
            _handle: handle,
            task,
        })
    }

    /// Waits for the next link event (and takes the ones already queued with it). `None`
    /// when the socket closed.
    pub async fn changed(&mut self) -> Option<()> {
        self.messages.next().await?;
        while self.messages.try_recv().is_ok() {}
        Some(())
    }
}

impl Drop for LinkEvents {
    fn drop(&mut self) {
        self.task.abort();
    }
}
