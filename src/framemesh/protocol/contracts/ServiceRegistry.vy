# pragma version ~=0.4.3
"""
@title ServiceRegistry
@notice Each orchestrator's public service URI, set by itself.
"""

event ServiceURIUpdate:
    addr: indexed(address)
    serviceURI: String[256]

serviceURIs: HashMap[address, String[256]]


@external
def setServiceURI(_serviceURI: String[256]):
    self.serviceURIs[msg.sender] = _serviceURI
    log ServiceURIUpdate(addr=msg.sender, serviceURI=_serviceURI)


@view
@external
def getServiceURI(_addr: address) -> String[256]:
    return self.serviceURIs[_addr]
