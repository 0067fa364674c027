# pragma version ~=0.4.3
governor: public(address)
serviceURI: HashMap[address, String[256]]


@deploy
def __init__(_governor: address):
    self.governor = _governor


@external
def setServiceURI(uri: String[256]):
    self.serviceURI[msg.sender] = uri


@external
@view
def getServiceURI(addr: address) -> String[256]:
    return self.serviceURI[addr]
