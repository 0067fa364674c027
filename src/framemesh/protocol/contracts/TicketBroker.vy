# pragma version ~=0.4.3
"""
@title TicketBroker
@notice Probabilistic micropayments, Livepeer's rules.  A gateway (the ticket sender)
        funds a deposit and a reserve; an orchestrator redeems each winning ticket
        on-chain and is paid its face value from the deposit, or, when the deposit runs
        short, from the reserve up to its fair share (reserve / active set size, per
        round and per orchestrator).  Paid face values are credited to the
        orchestrator's fee pool in the BondingManager; this contract keeps the ETH of
        deposits, reserves and unwithdrawn fees, and pays fees out when the
        BondingManager says so.

        A ticket's hash is keccak256(recipient ++ sender ++ faceValue ++ winProb ++
        senderNonce ++ recipientRandHash ++ auxData) (packed); the sender signs it as an
        Ethereum personal message; it wins when
        uint256(keccak256(sig ++ recipientRand)) < winProb.  auxData is the creation
        round and that round's block hash (64 bytes); a ticket is valid in its creation
        round and the `ticketValidityPeriod - 1` rounds after.
"""

interface IBondingManager:
    def isActiveTranscoder(_transcoder: address) -> bool: view
    def currentRoundActiveSetSize() -> uint256: view
    def updateTranscoderWithFees(_transcoder: address, _fees: uint256, _round: uint256): nonpayable

interface IRoundsManager:
    def currentRound() -> uint256: view
    def currentRoundInitialized() -> bool: view
    def blockHashForRound(_round: uint256) -> bytes32: view

# secp256k1 n / 2: signatures with a larger s are malleable copies and are refused
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

struct Ticket:
    recipient: address
    sender: address
    faceValue: uint256
    winProb: uint256
    senderNonce: uint256
    recipientRandHash: bytes32
    auxData: Bytes[128]

struct Sender:
    deposit: uint256
    withdrawRound: uint256


event DepositFunded:
    sender: indexed(address)
    amount: uint256

event ReserveFunded:
    reserveHolder: indexed(address)
    amount: uint256

event WinningTicketRedeemed:
    sender: indexed(address)
    recipient: indexed(address)
    faceValue: uint256
    winProb: uint256
    senderNonce: uint256
    recipientRand: uint256
    auxData: Bytes[128]

event WinningTicketTransfer:
    sender: indexed(address)
    recipient: indexed(address)
    amount: uint256

event ReserveClaimed:
    reserveHolder: indexed(address)
    claimant: indexed(address)
    amount: uint256

event Unlock:
    sender: indexed(address)
    startRound: uint256
    endRound: uint256

event UnlockCancelled:
    sender: indexed(address)

event Withdrawal:
    sender: indexed(address)
    deposit: uint256
    reserve: uint256

event FeesWithdrawn:
    recipient: indexed(address)
    amount: uint256

event GovernorTransferred:
    previous: indexed(address)
    governor: indexed(address)

event ParameterUpdate:
    param: String[32]
    value: uint256


bondingManager: public(immutable(address))
roundsManager: public(immutable(address))
governor: public(address)
unlockPeriod: public(uint256)
ticketValidityPeriod: public(uint256)
usedTickets: public(HashMap[bytes32, bool])
senders: HashMap[address, Sender]
reserves: HashMap[address, uint256]
claimedForRound: HashMap[address, HashMap[uint256, uint256]]
claimedByAddress: HashMap[address, HashMap[uint256, HashMap[address, uint256]]]
# fees credited to orchestrators and not yet withdrawn
feesHeld: public(uint256)


@deploy
def __init__(_bondingManager: address, _roundsManager: address, _unlockPeriod: uint256, _ticketValidityPeriod: uint256):
    assert _unlockPeriod > 0, "unlock period cannot be 0"
    assert _ticketValidityPeriod > 0, "ticket validity period cannot be 0"
    bondingManager = _bondingManager
    roundsManager = _roundsManager
    self.governor = msg.sender
    self.unlockPeriod = _unlockPeriod
    self.ticketValidityPeriod = _ticketValidityPeriod


# ---------------------------------------------------------------- funding

@internal
def _process_deposit(_sender: address, _amount: uint256):
    self.senders[_sender].deposit += _amount
    if self.senders[_sender].withdrawRound != 0:
        self.senders[_sender].withdrawRound = 0
        log UnlockCancelled(sender=_sender)
    log DepositFunded(sender=_sender, amount=_amount)


@internal
def _process_reserve(_sender: address, _amount: uint256):
    self.reserves[_sender] += _amount
    if self.senders[_sender].withdrawRound != 0:
        self.senders[_sender].withdrawRound = 0
        log UnlockCancelled(sender=_sender)
    log ReserveFunded(reserveHolder=_sender, amount=_amount)


@payable
@external
def fundDeposit():
    assert msg.value > 0, "no ETH sent"
    self._process_deposit(msg.sender, msg.value)


@payable
@external
def fundReserve():
    assert msg.value > 0, "no ETH sent"
    self._process_reserve(msg.sender, msg.value)


@payable
@external
def fundDepositAndReserve(_depositAmount: uint256, _reserveAmount: uint256):
    assert msg.value == _depositAmount + _reserveAmount, "msg.value does not equal sum of deposit amount and reserve amount"
    if _depositAmount > 0:
        self._process_deposit(msg.sender, _depositAmount)
    if _reserveAmount > 0:
        self._process_reserve(msg.sender, _reserveAmount)


@external
def unlock():
    s: Sender = self.senders[msg.sender]
    assert s.deposit > 0 or self.reserves[msg.sender] > 0, "sender deposit and reserve are zero"
    assert s.withdrawRound == 0, "unlock already initiated"
    cur: uint256 = staticcall IRoundsManager(roundsManager).currentRound()
    withdraw_round: uint256 = cur + self.unlockPeriod
    self.senders[msg.sender].withdrawRound = withdraw_round
    log Unlock(sender=msg.sender, startRound=cur, endRound=withdraw_round)


@external
def cancelUnlock():
    assert self.senders[msg.sender].withdrawRound != 0, "no unlock request in progress"
    self.senders[msg.sender].withdrawRound = 0
    log UnlockCancelled(sender=msg.sender)


@external
def withdraw():
    s: Sender = self.senders[msg.sender]
    reserve: uint256 = self.reserves[msg.sender]
    assert s.deposit > 0 or reserve > 0, "sender deposit and reserve are zero"
    assert s.withdrawRound != 0, "no unlock request in progress"
    assert s.withdrawRound <= staticcall IRoundsManager(roundsManager).currentRound(), "account is locked"
    self.senders[msg.sender] = empty(Sender)
    self.reserves[msg.sender] = 0
    raw_call(msg.sender, b"", value=s.deposit + reserve)
    log Withdrawal(sender=msg.sender, deposit=s.deposit, reserve=reserve)


# ---------------------------------------------------------------- tickets

@internal
@pure
def _ticket_hash(_ticket: Ticket) -> bytes32:
    return keccak256(concat(
        convert(_ticket.recipient, bytes20),
        convert(_ticket.sender, bytes20),
        convert(_ticket.faceValue, bytes32),
        convert(_ticket.winProb, bytes32),
        convert(_ticket.senderNonce, bytes32),
        _ticket.recipientRandHash,
        _ticket.auxData,
    ))


@internal
@pure
def _recover(_hash: bytes32, _sig: Bytes[96]) -> address:
    """the signer of `_hash` as an Ethereum personal message; empty if the signature is
    not exactly 65 bytes, has a high s or a bad v"""
    if len(_sig) != 65:
        return empty(address)
    r: uint256 = extract32(_sig, 0, output_type=uint256)
    s: uint256 = extract32(_sig, 32, output_type=uint256)
    v: uint256 = convert(slice(_sig, 64, 1), uint256)
    if v < 27:
        v += 27
    if s > HALF_N or (v != 27 and v != 28):
        return empty(address)
    message: bytes32 = keccak256(concat(b"\x19Ethereum Signed Message:\n32", _hash))
    return ecrecover(message, v, r, s)


@view
@external
def getTicketHash(_ticket: Ticket) -> bytes32:
    return self._ticket_hash(_ticket)


@view
@external
def isValidTicketSig(_sender: address, _sig: Bytes[96], _ticketHash: bytes32) -> bool:
    signer: address = self._recover(_ticketHash, _sig)
    return signer != empty(address) and signer == _sender


@view
@external
def isWinningTicket(_sig: Bytes[96], _recipientRand: uint256, _winProb: uint256) -> bool:
    return convert(keccak256(concat(_sig, convert(_recipientRand, bytes32))), uint256) < _winProb


@internal
@view
def _claimable_reserve(_holder: address, _claimant: address, _round: uint256) -> uint256:
    size: uint256 = staticcall IBondingManager(bondingManager).currentRoundActiveSetSize()
    if size == 0:
        return 0
    total: uint256 = self.reserves[_holder] + self.claimedForRound[_holder][_round]
    share: uint256 = total // size
    claimed: uint256 = self.claimedByAddress[_holder][_round][_claimant]
    if claimed >= share:
        return 0
    return share - claimed


@external
def redeemWinningTicket(_ticket: Ticket, _sig: Bytes[96], _recipientRand: uint256):
    rm: address = roundsManager
    assert staticcall IRoundsManager(rm).currentRoundInitialized(), "current round is not initialized"
    assert _ticket.recipient != empty(address), "ticket recipient is null address"
    assert _ticket.sender != empty(address), "ticket sender is null address"
    # auxData: creation round ++ its block hash
    assert len(_ticket.auxData) == 64, "invalid length for ticket auxData: must be 64 bytes"
    creation_round: uint256 = extract32(_ticket.auxData, 0, output_type=uint256)
    block_hash: bytes32 = staticcall IRoundsManager(rm).blockHashForRound(creation_round)
    assert block_hash != empty(bytes32), "ticket creationRound does not have a block hash"
    assert extract32(_ticket.auxData, 32) == block_hash, "ticket creationRoundBlockHash invalid for creationRound"
    cur: uint256 = staticcall IRoundsManager(rm).currentRound()
    assert creation_round + self.ticketValidityPeriod > cur, "ticket is expired"
    assert keccak256(convert(_recipientRand, bytes32)) == _ticket.recipientRandHash, "recipientRand does not match recipientRandHash"
    ticket_hash: bytes32 = self._ticket_hash(_ticket)
    assert not self.usedTickets[ticket_hash], "ticket is used"
    signer: address = self._recover(ticket_hash, _sig)
    assert signer != empty(address) and signer == _ticket.sender, "invalid signature over ticket hash"
    assert convert(keccak256(concat(_sig, convert(_recipientRand, bytes32))), uint256) < _ticket.winProb, "ticket did not win"
    assert staticcall IBondingManager(bondingManager).isActiveTranscoder(_ticket.recipient), "ticket recipient is not an active orchestrator"

    s: Sender = self.senders[_ticket.sender]
    assert s.deposit > 0 or self.reserves[_ticket.sender] > 0, "sender deposit and reserve are zero"
    assert s.withdrawRound == 0 or cur < s.withdrawRound, "sender is unlocked"
    self.usedTickets[ticket_hash] = True

    amount: uint256 = _ticket.faceValue
    if amount > s.deposit:
        # the deposit runs short: the rest comes from the reserve, up to the fair share
        amount = s.deposit
        want: uint256 = _ticket.faceValue - s.deposit
        claimable: uint256 = self._claimable_reserve(_ticket.sender, _ticket.recipient, cur)
        claim: uint256 = min(want, claimable)
        if claim > 0:
            self.reserves[_ticket.sender] -= claim
            self.claimedForRound[_ticket.sender][cur] += claim
            self.claimedByAddress[_ticket.sender][cur][_ticket.recipient] += claim
            amount += claim
            log ReserveClaimed(reserveHolder=_ticket.sender, claimant=_ticket.recipient, amount=claim)
        if s.deposit > 0:
            self.senders[_ticket.sender].deposit = 0
    else:
        self.senders[_ticket.sender].deposit = s.deposit - amount

    log WinningTicketRedeemed(sender=_ticket.sender, recipient=_ticket.recipient, faceValue=_ticket.faceValue, winProb=_ticket.winProb, senderNonce=_ticket.senderNonce, recipientRand=_recipientRand, auxData=_ticket.auxData)
    if amount > 0:
        self.feesHeld += amount
        extcall IBondingManager(bondingManager).updateTranscoderWithFees(_ticket.recipient, amount, cur)
        log WinningTicketTransfer(sender=_ticket.sender, recipient=_ticket.recipient, amount=amount)


@external
def withdrawFeesTo(_recipient: address, _amount: uint256):
    """Pay out fees an orchestrator or delegator withdraws.  Only the BondingManager."""
    assert msg.sender == bondingManager, "caller must be the BondingManager"
    held: uint256 = self.feesHeld
    assert held >= _amount, "insufficient fees held"
    self.feesHeld = held - _amount
    if _amount > 0:
        raw_call(_recipient, b"", value=_amount)
    log FeesWithdrawn(recipient=_recipient, amount=_amount)


# ---------------------------------------------------------------- views

@view
@external
def getSenderInfo(_sender: address) -> (uint256, uint256, uint256, uint256):
    """(deposit, withdrawRound, reserve funds remaining, reserve claimed in the current round)"""
    s: Sender = self.senders[_sender]
    cur: uint256 = staticcall IRoundsManager(roundsManager).currentRound()
    return s.deposit, s.withdrawRound, self.reserves[_sender], self.claimedForRound[_sender][cur]


@view
@external
def getReserveInfo(_reserveHolder: address) -> (uint256, uint256):
    """(funds remaining, claimed in the current round)"""
    cur: uint256 = staticcall IRoundsManager(roundsManager).currentRound()
    return self.reserves[_reserveHolder], self.claimedForRound[_reserveHolder][cur]


@view
@external
def claimableReserve(_reserveHolder: address, _claimant: address) -> uint256:
    if not staticcall IBondingManager(bondingManager).isActiveTranscoder(_claimant):
        return 0
    return self._claimable_reserve(_reserveHolder, _claimant, staticcall IRoundsManager(roundsManager).currentRound())


@view
@external
def claimedReserve(_reserveHolder: address, _claimant: address) -> uint256:
    cur: uint256 = staticcall IRoundsManager(roundsManager).currentRound()
    return self.claimedByAddress[_reserveHolder][cur][_claimant]


@view
@external
def isUnlockInProgress(_sender: address) -> bool:
    return self.senders[_sender].withdrawRound > 0


# ---------------------------------------------------------------- governor

@external
def setUnlockPeriod(_unlockPeriod: uint256):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _unlockPeriod > 0, "unlock period cannot be 0"
    self.unlockPeriod = _unlockPeriod
    log ParameterUpdate(param="unlockPeriod", value=_unlockPeriod)


@external
def setTicketValidityPeriod(_ticketValidityPeriod: uint256):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _ticketValidityPeriod > 0, "ticket validity period cannot be 0"
    self.ticketValidityPeriod = _ticketValidityPeriod
    log ParameterUpdate(param="ticketValidityPeriod", value=_ticketValidityPeriod)


@external
def transferGovernor(_governor: address):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _governor != empty(address), "governor is the zero address"
    log GovernorTransferred(previous=self.governor, governor=_governor)
    self.governor = _governor
