import { FrontendMessageCounter } from '@onboarding/test-infra';

/** A typed frontend message: type byte, int32 length (itself included), body. */
function message(type: string, body = Buffer.alloc(3)): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function untyped(code: number, body = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt32BE(body.length + 8, 0);
  header.writeInt32BE(code, 4);
  return Buffer.concat([header, body]);
}

describe('SQL round-trip counter', () => {
  const stream = Buffer.concat([
    untyped(80877103), // SSLRequest, refused by the server: the startup message follows
    untyped(196608, Buffer.from('user\0postgres\0\0')), // startup
    message('Q', Buffer.from('select 1\0')), // simple query: 1
    message('P'),
    message('B'),
    message('D'),
    message('E'),
    message('S', Buffer.alloc(0)), // extended query ends with Sync: 2
    message('Q', Buffer.from('Q S Q S\0')), // message bodies are not read as messages: 3
    message('X', Buffer.alloc(0)),
  ]);

  it('counts one per Query and one per Sync, whatever the body holds', () => {
    const counter = new FrontendMessageCounter();
    counter.feed(stream);
    expect(counter.roundTrips).toBe(3);
  });

  it('gives the same count however the stream is cut into chunks', () => {
    for (const size of [1, 2, 3, 5, 7, 13]) {
      const counter = new FrontendMessageCounter();
      for (let offset = 0; offset < stream.length; offset += size) counter.feed(stream.subarray(offset, offset + size));
      expect(counter.roundTrips).toBe(3);
    }
  });
});
